# Cross build for arm64 boards: Debian's cross compiler (gcc-aarch64-linux-gnu, from
# crossbuild-essential-arm64) against an arm64 sysroot of Debian's own -dev packages
# (tests/arm64/sysroot.sh makes it; -DEVALROOM_ARM64_SYSROOT=its path).
# Programs built here run on this machine under qemu-user with that sysroot as their /,
# which ctest uses as the emulator for the unit tests (tests/arm64/unit.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_STRIP aarch64-linux-gnu-strip)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EVALROOM_ARM64_SYSROOT)
if(NOT EVALROOM_ARM64_SYSROOT)
  message(FATAL_ERROR "set EVALROOM_ARM64_SYSROOT (tests/arm64/sysroot.sh prints it)")
endif()
set(CMAKE_SYSROOT ${EVALROOM_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${EVALROOM_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(EVALROOM_DEB_ARCH arm64)
# pkg-config reads the sysroot's arm64 .pc files only.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${EVALROOM_ARM64_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
    ${EVALROOM_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${EVALROOM_ARM64_SYSROOT}/usr/share/pkgconfig)
find_program(EVALROOM_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(EVALROOM_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EVALROOM_QEMU_AARCH64} -L ${EVALROOM_ARM64_SYSROOT})
endif()
