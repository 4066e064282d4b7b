# bench/amqp.cmake -- RabbitMQ: qplug (through the plugin's C ABI) beside raw
# rabbitmq-c doing the same work, in one binary and one run, and through
# qplug::Runtime when core is built.
if(TARGET qplug_amqp)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(RABBITMQ_BENCH REQUIRED IMPORTED_TARGET librabbitmq)
  add_executable(amqp_bench ${CMAKE_CURRENT_LIST_DIR}/amqp_bench.cpp)
  target_link_libraries(amqp_bench PRIVATE qplug::loader qplug::abi PkgConfig::RABBITMQ_BENCH Threads::Threads)
  target_compile_definitions(amqp_bench PRIVATE QPLUG_AMQP_PLUGIN="$<TARGET_FILE:qplug_amqp>")
  add_dependencies(amqp_bench qplug_amqp)
  if(TARGET qplug::core)
    # Also measures the same work through qplug::Runtime (core's C++ API).
    target_link_libraries(amqp_bench PRIVATE qplug::core)
    target_compile_definitions(amqp_bench PRIVATE QPLUG_BENCH_RUNTIME=1)
  endif()
  if(QPLUG_BUILD_TESTS)
    # Proves the bench runs end to end; the figures of 500 messages mean nothing.
    add_test(NAME amqp_bench_smoke COMMAND amqp_bench --messages 500)
    set_tests_properties(amqp_bench_smoke PROPERTIES LABELS "bench-smoke;broker:rabbitmq" TIMEOUT 300)
  endif()
endif()
