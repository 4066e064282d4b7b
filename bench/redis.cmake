# bench/redis.cmake -- Redis streams: qplug beside raw hiredis doing the same
# work, in one binary and one run each:
#   redis_bench      the driver through the plugin's C ABI (loader only);
#   redis_api_bench  qplug::Runtime from C++ (and Lua's queue.publish when
#                    the Lua binding is built).
if(TARGET qplug_redis)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(HIREDIS_BENCH REQUIRED IMPORTED_TARGET hiredis)
  add_executable(redis_bench ${CMAKE_CURRENT_LIST_DIR}/redis_bench.cpp)
  target_link_libraries(redis_bench PRIVATE qplug::loader qplug::abi PkgConfig::HIREDIS_BENCH Threads::Threads)
  add_dependencies(redis_bench qplug_redis)
  if(TARGET qplug_core)
    add_executable(redis_api_bench ${CMAKE_CURRENT_LIST_DIR}/redis_api_bench.cpp)
    target_link_libraries(redis_api_bench PRIVATE qplug::core qplug::abi PkgConfig::HIREDIS_BENCH Threads::Threads)
    if(TARGET qplug_lua)
      target_link_libraries(redis_api_bench PRIVATE qplug::lua)
      target_compile_definitions(redis_api_bench PRIVATE QPLUG_BENCH_LUA)
    endif()
    add_dependencies(redis_api_bench qplug_redis)
  endif()
  if(QPLUG_BUILD_TESTS)
    # Prove the benches run end to end; the figures of 2000 messages mean nothing.
    add_test(NAME redis_bench_smoke COMMAND redis_bench --messages 2000 --rounds 1)
    set_tests_properties(redis_bench_smoke PROPERTIES LABELS "bench-smoke;broker:redis" TIMEOUT 300)
    if(TARGET redis_api_bench)
      add_test(NAME redis_api_bench_smoke COMMAND redis_api_bench --messages 2000 --rounds 1)
      set_tests_properties(redis_api_bench_smoke PROPERTIES LABELS "bench-smoke;broker:redis" TIMEOUT 300)
    endif()
  endif()
endif()
