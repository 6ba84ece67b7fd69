import { describe, expect, it } from 'vitest';
import { formatServingLine, parseServingPorts } from '../../src/cli/serving-line.js';
import { defaultBrokerConfig } from '../../src/common/broker-config.js';
import { crc32cImplementation } from '../../src/record/crc32c.js';

describe('serving line', () => {
  it('gives back the ports it was printed with, and null before it is printed', () => {
    const line = formatServingLine(
      { ...defaultBrokerConfig(2), fsync: { intervalMs: 50 } },
      { kafkaPort: 41234, httpPort: 8081 },
    );
    expect(line).toContain('fsync 50ms');
    expect(line).toContain(`crc32c ${crc32cImplementation}`);
    expect(parseServingPorts(`starting\n${line}\n`)).toEqual({ kafkaPort: 41234, httpPort: 8081 });
    expect(parseServingPorts('pyralog serving: kafka 127.0.0.1:')).toBeNull();
  });
});
