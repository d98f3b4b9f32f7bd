# CMake toolchain file for bare-metal RV32 with Debian's riscv64-unknown-elf-gcc (multilib).
#   cmake -DCMAKE_TOOLCHAIN_FILE=.../riscv32-elf.cmake -DRISCV_MARCH=rv32imac_zicsr
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RISCV_MARCH)
set(CMAKE_C_FLAGS_INIT "-march=${RISCV_MARCH} -mabi=ilp32 -ffunction-sections -fdata-sections")
