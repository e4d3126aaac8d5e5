# Hardening of every hosted program the project builds (vmm, vmmctl, vmm-jail, the tools, unit
# tests): the flags Debian's dpkg-buildflags uses with hardening=+all, and a little more.
#   -fstack-protector-strong    canary in every function with an array or an address-taken local
#   -D_FORTIFY_SOURCE=3         glibc's checked memcpy/snprintf/read... (__*_chk), sizes known at
#                               run time too (__builtin_dynamic_object_size, gcc >= 12)
#   -fstack-clash-protection    probes every page of a large frame or alloca, so the stack cannot
#                               jump over the guard page into another mapping
#   -fcf-protection=full        endbr64 landing pads (IBT) and shadow-stack compatibility (SHSTK);
#                               on aarch64 its counterpart -mbranch-protection=standard (BTI
#                               landing pads, PAC-signed return addresses)
#   -fPIE -pie                  ASLR for the executable itself (Debian's gcc defaults to it; said
#                               here so that another compiler gets it too)
#   -z relro -z now             GOT and other relocated data read-only after start-up (BIND_NOW
#                               resolves every symbol at load, so nothing stays writable)
#   -z noexecstack              no executable stack, whatever an object file asks for
# tests/integration/build/test_hardening.py checks the installed binaries for each of these.
#
# The test guests (tests/guests) are freestanding and set their own options: that folder clears
# the directory's COMPILE_OPTIONS and LINK_OPTIONS, so none of these reach them.
#
# VMM_HARDEN=OFF builds without any of this: it exists to measure what hardening costs
# (tools/bench --peer-vmm, see docs/benchmarks.md), not to ship.

option(VMM_HARDEN "Build with stack protector, FORTIFY, stack-clash and CET code, full RELRO, PIE" ON)

if(VMM_HARDEN)
  if(VMM_ARCH STREQUAL "aarch64")
    add_compile_options(-fstack-protector-strong -fstack-clash-protection
      -mbranch-protection=standard -fPIE)
  else()
    add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection=full
      -fPIE)
  endif()
  # FORTIFY needs the optimiser (glibc ignores it at -O0, so Debug builds skip it), and fights
  # AddressSanitizer: the __*_chk functions bypass ASan's interceptors of memcpy & co., hiding
  # the very overflows ASan is there to report. Sanitizer and fuzz builds keep the rest.
  if(NOT VMM_SANITIZE AND NOT VMM_FUZZ)
    add_compile_options($<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE>
      $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=3>)
  endif()
  add_link_options(-pie LINKER:-z,relro LINKER:-z,now LINKER:-z,noexecstack)
endif()
