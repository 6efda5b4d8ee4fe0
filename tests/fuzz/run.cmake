# Runs one fuzzer for a bounded time: copies its seeds into a scratch corpus (libFuzzer adds to its first
# corpus directory), then fails on any crash, leak or sanitizer report (libFuzzer exits non-zero).
#   cmake -DFUZZER=<executable> -DSEEDS=<dir> -DCORPUS=<dir> -DSECONDS=<n> -P run.cmake
file(REMOVE_RECURSE ${CORPUS})
file(MAKE_DIRECTORY ${CORPUS})
if(EXISTS ${SEEDS})
  file(GLOB seeds ${SEEDS}/*)
  if(seeds)
    file(COPY ${seeds} DESTINATION ${CORPUS})
  endif()
endif()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10
                        -artifact_prefix=${CORPUS}/../ -print_final_stats=1 ${CORPUS}
                RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "${FUZZER}: libFuzzer stopped with ${code}; the failing input is next to ${CORPUS}")
endif()
