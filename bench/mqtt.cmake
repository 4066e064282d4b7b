# bench/mqtt.cmake -- MQTT: qplug (through the plugin's C ABI) beside raw
# libmosquitto doing the same work, in one binary and one run.
if(TARGET qplug_mqtt)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(MOSQUITTO_BENCH REQUIRED IMPORTED_TARGET libmosquitto)
  add_executable(mqtt_bench ${CMAKE_CURRENT_LIST_DIR}/mqtt_bench.cpp)
  target_link_libraries(mqtt_bench PRIVATE qplug::loader qplug::abi PkgConfig::MOSQUITTO_BENCH Threads::Threads)
  add_dependencies(mqtt_bench qplug_mqtt)
  if(QPLUG_BUILD_TESTS)
    # Proves the bench runs end to end (and loses nothing); the figures of
    # 400 messages mean nothing.
    add_test(NAME mqtt_bench_smoke COMMAND mqtt_bench --messages 400 --rounds 1)
    set_tests_properties(mqtt_bench_smoke PROPERTIES LABELS "bench-smoke;broker:mosquitto" TIMEOUT 300)
  endif()
endif()
