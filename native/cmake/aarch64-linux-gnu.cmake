# Cross-compiles native/ for linux-arm64 with Debian's cross toolchain:
#   apt-get install gcc-aarch64-linux-gnu libc6-arm64-cross      (tests also: qemu-user; see .ci/linux-arm64)
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/aarch64-linux-gnu.cmake
# The C unit tests (-DFIBERRT_NATIVE_TESTS=ON) then run through qemu-aarch64 under ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FR_CROSS_PREFIX aarch64-linux-gnu-)
find_program(FR_CROSS_CC ${FR_CROSS_PREFIX}gcc)
if(NOT FR_CROSS_CC)
  message(FATAL_ERROR "FiberRuntime: building for linux-arm64 needs the cross compiler ${FR_CROSS_PREFIX}gcc: "
                      "apt-get install gcc-aarch64-linux-gnu (Debian/Ubuntu)")
endif()
set(CMAKE_C_COMPILER ${FR_CROSS_CC})
set(CMAKE_ASM_COMPILER ${FR_CROSS_CC})

set(FR_CROSS_SYSROOT /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH ${FR_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# ctest runs the test executables under user-mode emulation when it is there. With Debian's arm64 libraries
# installed (multiarch: libc6:arm64, as .ci/linux-arm64 does) they run as on an arm64 machine; otherwise on the
# cross sysroot's glibc (-L). Never mixed: the sysroot's dynamic loader with the multiarch libc.so.6 that the
# loader cache then names (another build of glibc) hangs or crashes.
find_program(FR_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(FR_QEMU_AARCH64 AND EXISTS /lib/ld-linux-aarch64.so.1)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FR_QEMU_AARCH64})
elseif(FR_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FR_QEMU_AARCH64} -L ${FR_CROSS_SYSROOT})
endif()
