# Read by cpack (CPACK_PROJECT_CONFIG_FILE). For the arm64 cross build, dpkg-shlibdeps
# cannot resolve the sysroot's libraries (they are not in this machine's dpkg database),
# so each arm64 package takes the Depends that dpkg-shlibdeps computed for the amd64
# package of the same sources from the same Debian release: ./dev package builds those
# first, checks that no arm64 program needs a shared library its amd64 build does not
# (readelf NEEDED, the dynamic loader aside),
# and names their directory in EVALROOM_DEPENDS_FROM. evalroom-broker (Architecture: all)
# comes from the amd64 build only.
if(CPACK_DEBIAN_PACKAGE_ARCHITECTURE STREQUAL "arm64")
  if(NOT DEFINED ENV{EVALROOM_DEPENDS_FROM})
    message(FATAL_ERROR "arm64 packages: set EVALROOM_DEPENDS_FROM to the amd64 packages' "
                        "directory (./dev package does)")
  endif()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  list(REMOVE_ITEM CPACK_COMPONENTS_ALL broker)
  foreach(c ${CPACK_COMPONENTS_ALL})
    string(TOUPPER ${c} C)
    file(GLOB deb "$ENV{EVALROOM_DEPENDS_FROM}/evalroom-${c}_*_amd64.deb")
    if(NOT deb)
      message(FATAL_ERROR "no evalroom-${c} amd64 package in $ENV{EVALROOM_DEPENDS_FROM}")
    endif()
    execute_process(COMMAND dpkg-deb -f ${deb} Depends OUTPUT_VARIABLE dep
                    OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
    # evalroom-common is added again by the component dependency.
    string(REGEX REPLACE "(^|, )evalroom-common \\([^)]*\\)" "" dep "${dep}")
    string(REGEX REPLACE "^, " "" dep "${dep}")
    set(CPACK_DEBIAN_${C}_PACKAGE_DEPENDS "${dep}")
  endforeach()
endif()
