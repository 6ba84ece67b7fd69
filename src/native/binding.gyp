{
  "targets": [
    {
      "target_name": "crc32c",
      "sources": ["crc32c.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"]
    }
  ]
}
