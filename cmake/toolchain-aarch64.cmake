# Cross build for aarch64 (64-bit Arm) Linux on a Debian x86_64 host (issue 67, docs/aarch64.md):
#   cmake -S . -B build/arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# configures the tree with VMM_ARCH=aarch64. What it needs, tools/setup.sh installs: Debian's
# crossbuild-essential-arm64 (aarch64-linux-gnu-gcc), the multiarch :arm64 libraries in
# /usr/lib/aarch64-linux-gnu, and the sysroot of the arm64 packages that multiarch cannot install
# beside their amd64 twins (Criterion, libfdt-dev): VMM_CROSS_SYSROOT, searched first.
# Binaries run under qemu-user: qemu-aarch64 -L / BINARY. The prefix is the host's root, not
# /usr/aarch64-linux-gnu: the multiarch libc6:arm64 (which the :arm64 libraries bring) has its
# loader in /lib, and the cross package's older loader in /usr/aarch64-linux-gnu, mixed with
# that libc.so.6, corrupts glibc's internal state (a pthread_create that never returns).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(VMM_CROSS_TRIPLE aarch64-linux-gnu)
if(VMM_FUZZ)
  # The fuzz targets (tools/fuzz/fuzz with FUZZ_ARCH=aarch64): clang for aarch64, with the
  # cross toolchain's libraries and Debian's libclang-rt-14-dev:arm64 (libFuzzer, ASan, UBSan).
  set(CMAKE_C_COMPILER clang)
  set(CMAKE_ASM_COMPILER clang)
  set(CMAKE_C_COMPILER_TARGET ${VMM_CROSS_TRIPLE})
  set(CMAKE_ASM_COMPILER_TARGET ${VMM_CROSS_TRIPLE})
else()
  set(CMAKE_C_COMPILER ${VMM_CROSS_TRIPLE}-gcc)
  set(CMAKE_ASM_COMPILER ${VMM_CROSS_TRIPLE}-gcc)
endif()

set(VMM_CROSS_SYSROOT /opt/vmm-aarch64 CACHE PATH
  "Unpacked arm64 packages that multiarch cannot install (tools/setup.sh)")

# Libraries and headers: the sysroot first, then the host's root, whose multiarch folders
# (/usr/lib/aarch64-linux-gnu) CMAKE_LIBRARY_ARCHITECTURE selects. Programs are the host's.
set(CMAKE_FIND_ROOT_PATH ${VMM_CROSS_SYSROOT} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only arm64 .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR}
  "${VMM_CROSS_SYSROOT}/usr/lib/${VMM_CROSS_TRIPLE}/pkgconfig:/usr/lib/${VMM_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# RPATH rather than RUNPATH, so that the sysroot's path in the binaries (CMake's build RPATH) also
# finds what its libraries need (libcriterion's libnanomsg) without LD_LIBRARY_PATH.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--disable-new-dtags")

# How the build runs its own arm64 programs (CMake's emulator for add_test and try_run).
find_program(VMM_QEMU_AARCH64 qemu-aarch64)
if(VMM_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${VMM_QEMU_AARCH64} -L /)
endif()
