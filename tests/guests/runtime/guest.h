/* Everything a test guest needs, in one include. See tests/guests/README.md. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apic.h"
#include "cpu.h"
#include "io.h"
#include "pci.h"
#include "printf.h"
#include "pvh.h"
#include "smp.h"
#include "string.h"
#include "test.h"
#include "trap.h"
#include "user.h"

#endif
