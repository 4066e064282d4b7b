# bench/redis.cmake -- Redis streams: qplug (through the plugin's C ABI)
# beside raw hiredis doing the same work, in one binary and one run.
if(TARGET qplug_redis)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(HIREDIS_BENCH REQUIRED IMPORTED_TARGET hiredis)
  add_executable(redis_bench ${CMAKE_CURRENT_LIST_DIR}/redis_bench.cpp)
  target_link_libraries(redis_bench PRIVATE qplug::loader qplug::abi PkgConfig::HIREDIS_BENCH Threads::Threads)
  add_dependencies(redis_bench qplug_redis)
  if(QPLUG_BUILD_TESTS)
    # Proves the bench runs end to end; the figures of 2000 messages mean nothing.
    add_test(NAME redis_bench_smoke COMMAND redis_bench --messages 2000)
    set_tests_properties(redis_bench_smoke PROPERTIES LABELS "bench-smoke;broker:redis" TIMEOUT 300)
  endif()
endif()
