# bench/memory.cmake -- the memory driver through the ABI beside a raw
# std::mutex + std::condition_variable queue, in one binary and one run.
if(TARGET qplug_memory)
  add_executable(memory_bench ${CMAKE_CURRENT_LIST_DIR}/memory_bench.cpp)
  target_link_libraries(memory_bench PRIVATE qplug::loader qplug::abi benchmark::benchmark Threads::Threads)
  add_dependencies(memory_bench qplug_memory)
  if(QPLUG_BUILD_TESTS)
    # Proves the bench runs; the figures of a 0.01 s run mean nothing.
    add_test(NAME memory_bench_smoke COMMAND memory_bench --benchmark_min_time=0.01)
    set_tests_properties(memory_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 300)
  endif()
endif()
