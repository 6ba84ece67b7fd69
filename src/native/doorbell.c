/*
 * A doorbell for a thread with an event loop, as a Node-API addon: another
 * thread rings it, and a JS function runs on the owning thread's loop.
 *
 * Why: the acceptor sleeps in libuv's epoll_wait, and the shards wake it when
 * they publish replies. Through Atomics.waitAsync each wake-up is V8's futex
 * emulation: the notifying thread takes V8's wait-list mutex and posts a task
 * to the sleeping isolate (Node's platform queue: another mutex, then
 * uv_async_send); the woken thread runs the task, takes the wait-list mutex
 * again and resolves a promise, whose continuation is yet another step. Here
 * the notifying thread calls uv_async_send on a handle of the owner's loop (an
 * atomic exchange and, unless a ring is already pending, one eventfd write),
 * and the loop calls the JS function straight away.
 *
 * Exports:
 *   open(callback): number   on the owning thread: the doorbell's id, a slot
 *                            of a process-wide table (ids are plain numbers, so
 *                            they can be handed to other threads in workerData)
 *   ring(id): void           from any thread: `callback` runs soon on the
 *                            owner's loop; rings before it runs coalesce into
 *                            one call; ringing a closed doorbell does nothing
 *   close(id): void          on the owning thread
 *
 * The handle does not keep the loop alive (uv_unref). A thread that ends with
 * a doorbell open closes it in an async cleanup hook, so that its loop closes
 * with no handle of ours left on it.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <uv.h>

#define DOORBELLS_MAX 4096

typedef struct doorbell {
  uv_async_t async; /* first, so a handle pointer is the doorbell pointer */
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup;
  int id;
} doorbell_t;

/* Guards `table`: ring() holds it across uv_async_send so that close() cannot free a doorbell being rung. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static doorbell_t *table[DOORBELLS_MAX];

static void throw_error(napi_env env, const char *message) { napi_throw_error(env, "ERR_PYRALOG_DOORBELL", message); }

static void on_ring(uv_async_t *handle) {
  doorbell_t *doorbell = (doorbell_t *)handle;
  napi_env env = doorbell->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback;
  napi_value receiver;
  /* make_callback wants an object as the receiver (undefined fails its ToObject): the global object. */
  if (napi_get_reference_value(env, doorbell->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &receiver) == napi_ok) {
    /* make_callback runs the microtasks and process.nextTick queue afterwards, like any I/O callback. */
    napi_status status = napi_make_callback(env, doorbell->context, receiver, callback, 0, NULL, NULL);
    if (status == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *handle) {
  doorbell_t *doorbell = (doorbell_t *)handle;
  if (doorbell->cleanup != NULL) napi_remove_async_cleanup_hook(doorbell->cleanup);
  free(doorbell);
}

/* Takes the doorbell out of the table (no ring reaches it after this) and closes its handle. */
static void shut(doorbell_t *doorbell) {
  pthread_mutex_lock(&table_lock);
  if (table[doorbell->id] == doorbell) table[doorbell->id] = NULL;
  pthread_mutex_unlock(&table_lock);
  napi_delete_reference(doorbell->env, doorbell->callback);
  napi_async_destroy(doorbell->env, doorbell->context);
  uv_close((uv_handle_t *)&doorbell->async, on_closed);
}

static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  (void)handle;
  shut((doorbell_t *)data);
}

static napi_value open_doorbell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    throw_error(env, "doorbell.open: expected a callback function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    throw_error(env, "doorbell.open: no event loop");
    return NULL;
  }
  doorbell_t *doorbell = calloc(1, sizeof *doorbell);
  if (doorbell == NULL) {
    throw_error(env, "doorbell.open: out of memory");
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  int id = -1;
  for (int i = 0; i < DOORBELLS_MAX; i++) {
    if (table[i] == NULL) {
      id = i;
      break;
    }
  }
  if (id >= 0) table[id] = doorbell;
  pthread_mutex_unlock(&table_lock);
  if (id < 0) {
    free(doorbell);
    throw_error(env, "doorbell.open: every doorbell slot is taken");
    return NULL;
  }
  doorbell->env = env;
  doorbell->id = id;
  napi_value name;
  napi_create_string_utf8(env, "pyralog.doorbell", NAPI_AUTO_LENGTH, &name);
  if (uv_async_init(loop, &doorbell->async, on_ring) != 0 ||
      napi_create_reference(env, argv[0], 1, &doorbell->callback) != napi_ok ||
      napi_async_init(env, NULL, name, &doorbell->context) != napi_ok) {
    pthread_mutex_lock(&table_lock);
    table[id] = NULL;
    pthread_mutex_unlock(&table_lock);
    free(doorbell); /* not reached in practice: uv_async_init and the two calls fail only without memory */
    throw_error(env, "doorbell.open: cannot set up the handle");
    return NULL;
  }
  uv_unref((uv_handle_t *)&doorbell->async);
  napi_add_async_cleanup_hook(env, on_env_cleanup, doorbell, &doorbell->cleanup);
  napi_value result;
  napi_create_int32(env, id, &result);
  return result;
}

static int id_argument(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &id) != napi_ok || id < 0 || id >= DOORBELLS_MAX) {
    return -1;
  }
  return id;
}

static napi_value ring_doorbell(napi_env env, napi_callback_info info) {
  int id = id_argument(env, info);
  if (id < 0) {
    throw_error(env, "doorbell.ring: expected a doorbell id");
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  doorbell_t *doorbell = table[id];
  if (doorbell != NULL) uv_async_send(&doorbell->async);
  pthread_mutex_unlock(&table_lock);
  return NULL;
}

static napi_value close_doorbell(napi_env env, napi_callback_info info) {
  int id = id_argument(env, info);
  if (id < 0) {
    throw_error(env, "doorbell.close: expected a doorbell id");
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  doorbell_t *doorbell = table[id];
  pthread_mutex_unlock(&table_lock);
  /* Only the opening thread closes its doorbells; another env's id is refused. */
  if (doorbell == NULL || doorbell->env != env) return NULL;
  napi_remove_async_cleanup_hook(doorbell->cleanup);
  doorbell->cleanup = NULL;
  shut(doorbell);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor properties[] = {
      {"open", NULL, open_doorbell, NULL, NULL, NULL, napi_default, NULL},
      {"ring", NULL, ring_doorbell, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_doorbell, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}
