# Board microbit for the CMake consumer: startup, linker script, semihosting (newlib rdimon).
set(board_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(demo PRIVATE ${board_dir}/../cortex-m/startup.c)
target_link_options(demo PRIVATE --specs=rdimon.specs -nostartfiles -Wl,--gc-sections
  -T ${board_dir}/link.ld -L ${board_dir}/../cortex-m)
