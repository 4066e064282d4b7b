# Lua binding benchmarks (bench/lua_bench.cpp): queue.publish from Lua beside
# Runtime::publish from C++ for the same payloads, and Lua handler dispatch
# beside a C++ handler and the raw driver ABI draining the same messages, all
# on the memory driver in the same run.
if(TARGET qplug_lua)
  add_executable(lua_bench ${CMAKE_CURRENT_LIST_DIR}/lua_bench.cpp)
  target_link_libraries(lua_bench PRIVATE qplug::lua qplug::loader benchmark::benchmark)
  if(TARGET qplug_memory)
    add_dependencies(lua_bench qplug_memory)
  endif()
  if(QPLUG_BUILD_TESTS)
    add_test(NAME bench.lua_smoke COMMAND lua_bench --benchmark_min_time=0.01)
    set_tests_properties(bench.lua_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300)
  endif()
endif()
