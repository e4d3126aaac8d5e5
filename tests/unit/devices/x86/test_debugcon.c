#include <criterion/criterion.h>
#include <string.h>

#include "base/io_bus.h"
#include "devices/x86/debugcon.h"

static char got[4][DEBUGCON_LINE_MAX + 1];
static int ngot;

static void on_line(void *opaque, const char *line)
{
	(void)opaque;
	if (ngot < 4)
		strcpy(got[ngot++], line);
}

Test(debugcon, readback_and_lines)
{
	struct io_bus bus;
	struct debugcon d = {.on_line = on_line};
	uint8_t v = 0;
	const char *text = "SeaBIOS\r\n\x1b[2Jok\n";

	ngot = 0;
	io_bus_init(&bus, "pio");
	cr_assert_eq(debugcon_attach(&d, &bus), 0);
	cr_assert_eq(io_bus_read(&bus, PORT_DEBUGCON, &v, 1), 1);
	cr_assert_eq(v, DEBUGCON_READBACK, "SeaBIOS checks for 0xe9 before it logs");
	for (size_t i = 0; i < strlen(text); i++)
		cr_assert_eq(io_bus_write(&bus, PORT_DEBUGCON, &text[i], 1), 1);
	cr_assert_eq(ngot, 2);
	cr_assert_str_eq(got[0], "SeaBIOS");
	cr_assert_str_eq(got[1], "[2Jok", "control characters dropped");
	for (int i = 0; i < DEBUGCON_LINE_MAX + 3; i++)
		io_bus_write(&bus, PORT_DEBUGCON, "x", 1);
	cr_assert_eq(ngot, 3, "a full line is cut");
	cr_assert_eq(strlen(got[2]), DEBUGCON_LINE_MAX);
	debugcon_detach(&d, &bus);
	cr_assert_eq(ngot, 4, "the rest is flushed at detach");
	cr_assert_str_eq(got[3], "xxx");
	io_bus_destroy(&bus);
}
