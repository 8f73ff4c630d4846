# layering.cmake - the transports reach data only through the service (docs/architecture.md):
# no file of src/http/ or src/mail/ calls the store, includes its header or handles one of
# its rows. The service hands the HTTP layer JSON views (svc_view.c) and figures; the
# names of enumerations (st_msg_status_name, ...) and the caller's kind are allowed.
# Run: cmake -DSRC=<source dir> -P tests/layering.cmake
file(GLOB files ${SRC}/src/http/*.c ${SRC}/src/http/*.h ${SRC}/src/mail/*.c ${SRC}/src/mail/*.h)
set(rows "thread|thread_query|message|order|token|attachment|enforcement|violation|idem|spapi_upload|spapi_client|seller|buyer|agent|marketplace|outbox|audit_entry|template|rule")
set(bad "")
foreach(f ${files})
  file(STRINGS ${f} lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "#include \"store/" OR line MATCHES "(^|[^a-z_])store_[a-z_]+\\(" OR
       line MATCHES "(^|[^a-z_])st_(${rows})([^a-z_]|$)")
      string(APPEND bad "  ${f}:${n}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "a transport reaches the store or its rows (use a view of the service):\n${bad}")
endif()
message(STATUS "src/http and src/mail reach data through the service only (${CMAKE_CURRENT_LIST_FILE})")
