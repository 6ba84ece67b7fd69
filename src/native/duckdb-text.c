/*
 * Keys and values into DuckDB string vectors, many rows per call, as a
 * Node-API addon.
 *
 * The SQL worker loads every record's key and value into a DuckDB VARCHAR
 * vector. `@duckdb/node-bindings` offers one call per string, which costs
 * about 200 ns of Node-API work per record, a third of loading a JSON record;
 * this addon takes the positions of a run of rows in one byte array and makes
 * the same C API call (`duckdb_vector_assign_string_element_len`) for each,
 * with one Node-API call per run (bench/RESULTS.md, SQL sessions).
 *
 * It links to nothing: at the first call it finds the libduckdb that
 * `@duckdb/node-bindings` already loaded into this process (dl_iterate_phdr,
 * then dlopen with RTLD_NOLOAD, so never a second copy) and looks up the one
 * function it needs. Where that fails, `available` is false and the caller
 * keeps its one-call-per-string path.
 *
 * Exports:
 *   available(): boolean
 *   assignText(vector, bytes, fields, rowFrom, rowEnd, valid): number
 *     vector: a DuckDB vector from @duckdb/node-bindings (an external holding
 *             the duckdb_vector);
 *     bytes:  Uint8Array holding the rows' bytes;
 *     fields: Int32Array, fields[2r] = start of row r's string in `bytes`,
 *             fields[2r+1] = its length, -1 for none (left alone);
 *     valid:  Uint8Array validity bitmap of the chunk (bit r set = not null).
 *   For each row r in [rowFrom, rowEnd) with a length >= 0: when the bytes are
 *   UTF-8 (the same rules as TextDecoder's fatal mode: no overlong forms, no
 *   surrogates, nothing past U+10FFFF) they are assigned to vector[r] and bit r
 *   of `valid` is set; otherwise nothing is assigned, the bit is left clear and
 *   the row is counted. Answers the count of rows that were not UTF-8. Every
 *   position is checked against the arrays' bounds first: a bad one throws a
 *   RangeError and assigns nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*assign_string_fn)(void *vector, uint64_t index, const char *str, uint64_t length);

static assign_string_fn assign_string = NULL;
static bool resolved = false;

static int find_libduckdb(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  const char *name = info->dlpi_name;
  if (name == NULL) return 0;
  size_t length = strlen(name);
  static const char suffix[] = "/libduckdb.so";
  size_t suffix_length = sizeof suffix - 1;
  if (length < suffix_length || strcmp(name + length - suffix_length, suffix) != 0) return 0;
  void *handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
  if (handle == NULL) return 0;
  *(assign_string_fn *)data = (assign_string_fn)dlsym(handle, "duckdb_vector_assign_string_element_len");
  return *(assign_string_fn *)data != NULL;
}

static bool resolve(void) {
  if (!resolved) {
    resolved = true;
    dl_iterate_phdr(find_libduckdb, &assign_string);
  }
  return assign_string != NULL;
}

/* True when bytes[0, length) is UTF-8, as TextDecoder's fatal mode decides. */
static bool is_utf8(const uint8_t *bytes, size_t length) {
  size_t i = 0;
  while (i < length) {
    /* Eight ASCII bytes at a time. */
    if (i + 8 <= length) {
      uint64_t word;
      memcpy(&word, bytes + i, sizeof word);
      if ((word & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    uint8_t lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    size_t more;
    uint8_t low = 0x80, high = 0xbf; /* bounds of the second byte */
    if (lead >= 0xc2 && lead <= 0xdf) {
      more = 1;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      more = 2;
      if (lead == 0xe0) low = 0xa0;  /* no overlong forms */
      if (lead == 0xed) high = 0x9f; /* no surrogates */
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      more = 3;
      if (lead == 0xf0) low = 0x90;  /* no overlong forms */
      if (lead == 0xf4) high = 0x8f; /* nothing past U+10FFFF */
    } else {
      return false;
    }
    if (i + more >= length) return false; /* cut short */
    if (bytes[i + 1] < low || bytes[i + 1] > high) return false;
    for (size_t k = 2; k <= more; k++)
      if ((bytes[i + k] & 0xc0) != 0x80) return false;
    i += more + 1;
  }
  return true;
}

static napi_value throw_error(napi_env env, bool range, const char *message) {
  if (range)
    napi_throw_range_error(env, NULL, message);
  else
    napi_throw_type_error(env, NULL, message);
  return NULL;
}

static bool typed_array(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok) return false;
  return type == want;
}

static bool integer_arg(napi_env env, napi_value value, int64_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return false;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(int64_t)number) return false;
  *out = (int64_t)number;
  return true;
}

static napi_value assign_text(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6)
    return throw_error(env, false, "assignText: needs (vector, bytes, fields, rowFrom, rowEnd, valid)");
  if (!resolve()) return throw_error(env, false, "assignText: libduckdb is not loaded in this process");
  napi_valuetype kind;
  void *vector = NULL;
  if (napi_typeof(env, argv[0], &kind) != napi_ok || kind != napi_external ||
      napi_get_value_external(env, argv[0], &vector) != napi_ok || vector == NULL)
    return throw_error(env, false, "assignText: vector must be a DuckDB vector");
  void *bytes_data, *fields_data, *valid_data;
  size_t bytes_length, fields_length, valid_length;
  if (!typed_array(env, argv[1], napi_uint8_array, &bytes_data, &bytes_length))
    return throw_error(env, false, "assignText: bytes must be a Uint8Array");
  if (!typed_array(env, argv[2], napi_int32_array, &fields_data, &fields_length))
    return throw_error(env, false, "assignText: fields must be an Int32Array");
  if (!typed_array(env, argv[5], napi_uint8_array, &valid_data, &valid_length))
    return throw_error(env, false, "assignText: valid must be a Uint8Array");
  int64_t row_from, row_end;
  if (!integer_arg(env, argv[3], &row_from) || !integer_arg(env, argv[4], &row_end) || row_from > row_end ||
      (uint64_t)row_end * 2 > fields_length || (uint64_t)row_end > (uint64_t)valid_length * 8)
    return throw_error(env, true, "assignText: rows out of range");
  const int32_t *fields = fields_data;
  const uint8_t *bytes = bytes_data;
  uint8_t *valid = valid_data;
  for (int64_t r = row_from; r < row_end; r++) {
    int32_t at = fields[2 * r], length = fields[2 * r + 1];
    if (length < 0) continue;
    if (at < 0 || (uint64_t)at + (uint64_t)length > bytes_length)
      return throw_error(env, true, "assignText: a field runs past the bytes");
  }
  uint32_t not_text = 0;
  for (int64_t r = row_from; r < row_end; r++) {
    int32_t at = fields[2 * r], length = fields[2 * r + 1];
    if (length < 0) continue;
    if (!is_utf8(bytes + at, (size_t)length)) {
      not_text++;
      continue;
    }
    assign_string(vector, (uint64_t)r, (const char *)(bytes + at), (uint64_t)length);
    valid[r >> 3] |= (uint8_t)(1u << (r & 7));
  }
  napi_value result;
  napi_create_uint32(env, not_text, &result);
  return result;
}

static napi_value available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, resolve(), &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor properties[] = {
      {"assignText", NULL, assign_text, NULL, NULL, NULL, napi_enumerable, NULL},
      {"available", NULL, available, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok)
    return NULL;
  return exports;
}
