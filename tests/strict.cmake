# --strict stops at the first bad line with exit 1, after writing every record before it.
file(MAKE_DIRECTORY ${WORK})
file(WRITE ${WORK}/events.jsonl
  "{\"id\":\"e1\",\"type\":\"join\",\"partner\":\"p1\",\"time\":\"2026-01-01T00:00:00Z\"}\n"
  "{\"id\":\"e2\",\"type\":\"sale\",\"partner\":\"p1\",\"time\":\"2026-01-02T00:00:00Z\"}\n"
  "{\"id\":\"e3\",\"type\":\"join\",\"partner\":\"p2\",\"time\":\"2026-01-03T00:00:00Z\"}\n")
file(WRITE ${WORK}/rules.ptag "on join add \"New\"\n")
foreach(mode strict lenient)
  set(flag "")
  if(mode STREQUAL strict)
    set(flag --strict)
  endif()
  execute_process(COMMAND ${PTAG} run ${WORK}/rules.ptag --events ${WORK}/events.jsonl ${flag}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT err MATCHES "events.jsonl:2: \"data.amount\" is missing \\(a sale needs a numeric amount\\)")
    message(FATAL_ERROR "${mode}: no line-numbered report:\n${err}")
  endif()
  if(mode STREQUAL strict)
    if(NOT status EQUAL 1 OR NOT out MATCHES "\"partner\":\"p1\"" OR out MATCHES "\"partner\":\"p2\"")
      message(FATAL_ERROR "strict: status ${status}, records:\n${out}")
    endif()
  elseif(NOT status EQUAL 0 OR NOT out MATCHES "\"partner\":\"p2\"" OR NOT err MATCHES "1 bad line;")
    message(FATAL_ERROR "lenient: status ${status}, records:\n${out}\n${err}")
  endif()
endforeach()
