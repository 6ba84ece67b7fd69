import { ApiKey, type KafkaApi, NOT_FLEXIBLE } from './api.js';
import { namesTooManyTopics, REQUEST_LIMIT_ERROR } from './request-limits.js';

/**
 * DeleteTopics (key 20), versions 0–1. Grammar (non-flexible):
 *   Request:  topic_names [STRING], timeout_ms INT32
 *   Response: throttle_time_ms INT32 (v1+), responses [name STRING, error_code INT16]
 */
export interface DeleteTopicsRequest {
  names: string[];
}

export interface DeleteTopicsResponse {
  topics: { name: string; errorCode: number }[];
}

export const deleteTopics: KafkaApi<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DELETE_TOPICS,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 1,
  firstFlexibleVersion: NOT_FLEXIBLE,
  decode(reader) {
    const names = reader.array((r) => r.string());
    reader.int32(); // timeout_ms
    return { names };
  },
  async handle(request, context) {
    const topics = [];
    if (namesTooManyTopics(request.names.length, context)) {
      return { topics: request.names.map((name) => ({ name, errorCode: REQUEST_LIMIT_ERROR })) };
    }
    for (const name of request.names)
      topics.push({ name, errorCode: await context.deps.engine.deleteTopic(name) });
    return { topics };
  },
  encode(writer, response, version) {
    if (version >= 1) writer.int32(0);
    writer.array(response.topics, (w, topic) => w.string(topic.name).int16(topic.errorCode));
  },
};
