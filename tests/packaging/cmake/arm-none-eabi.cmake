# CMake toolchain file for bare-metal Cortex-M with GNU Arm Embedded (arm-none-eabi-gcc).
#   cmake -DCMAKE_TOOLCHAIN_FILE=.../arm-none-eabi.cmake -DARM_CPU_FLAGS="-mcpu=cortex-m4 ..."
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# Compiler checks build a library: a bare-metal program needs a board's startup to link.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ARM_CPU_FLAGS)
set(CMAKE_C_FLAGS_INIT "${ARM_CPU_FLAGS} -ffunction-sections -fdata-sections")
