# ESP-IDF first runs every component's CMakeLists.txt in script mode ("early expansion") to
# collect its requirements: there idf_component_register is a macro that records them and
# returns, and no target may be created. This runs the component's file the same way:
#   cmake -DCOMPONENT=<dir> -DIDF_TARGET=esp32c3 -P early_expansion.cmake
# It fails if the file goes past idf_component_register (add_prebuilt_library is not defined
# in script mode) or if the chip is refused.
cmake_minimum_required(VERSION 3.16)
macro(idf_component_register)
  set(__ferrule_registered TRUE)
  return()
endmacro()
set(CMAKE_CURRENT_LIST_DIR ${COMPONENT})
include(${COMPONENT}/CMakeLists.txt)
if(NOT __ferrule_registered)
  message(FATAL_ERROR "idf_component_register was not called")
endif()
message(STATUS "early expansion of ${COMPONENT} for ${IDF_TARGET}: ok")
