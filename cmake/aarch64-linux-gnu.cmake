# Cross-compiling ebb for arm64 on an x86_64 Debian host (make ARCH=arm64):
# gcc-aarch64-linux-gnu and the multiarch :arm64 -dev packages that
# scripts/install-deps installs. libfdt-dev cannot be installed for two
# architectures at once, so scripts/arm64-deb unpacks the arm64 libfdt.a
# into a cache and the Makefile passes it as FDT_LIBRARY (the headers are
# the same for every architecture).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

# Libraries and pkg-config files of the arm64 multiarch packages only.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# Unit tests and other target programs run under qemu-user when ctest runs them.
find_program(EBB_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(EBB_QEMU_AARCH64)
	set(CMAKE_CROSSCOMPILING_EMULATOR ${EBB_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
endif()
