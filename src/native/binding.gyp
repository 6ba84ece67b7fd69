{
  "targets": [
    {
      "target_name": "crc32c",
      "sources": ["crc32c.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"]
    },
    {
      "target_name": "doorbell",
      "sources": ["doorbell.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "duckdb_text",
      "sources": ["duckdb-text.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "libraries": ["-ldl"]
    }
  ]
}
