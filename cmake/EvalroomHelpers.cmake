# evalroom_embed_text(TARGET FILE SYMBOL)
# Compiles FILE into TARGET as `const char SYMBOL[]` (NUL-terminated), so SQL
# schemas live as plain .sql files in schemas/ and still ship inside the binary.
function(evalroom_embed_text target file symbol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embed_${symbol}.c)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DSYM=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${file} as ${symbol}")
  target_sources(${target} PRIVATE ${out})
endfunction()

# evalroom_unit_test(NAME SOURCES... LIBS ...)
# A cmocka test executable registered with ctest under the label "unit".
function(evalroom_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300)
endfunction()
