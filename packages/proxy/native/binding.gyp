{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["original_dst.c"],
      "cflags": ["-O2", "-Wall"]
    },
    {
      "target_name": "byte_relay",
      "sources": ["byte_relay_engine.c", "byte_relay_napi.c", "decision_table.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
