/** The logging the control plane needs (pino's Logger has it); tests pass a quiet or recording one. */
export interface ClusterLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentClusterLog: ClusterLog = {
  info() {},
  warn() {},
  error() {},
};
