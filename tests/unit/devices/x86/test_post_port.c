#include <criterion/criterion.h>
#include <errno.h>

#include "base/io_bus.h"
#include "base/layout.h"
#include "devices/x86/post_port.h"

Test(post_port, writes_kept_reads_all_ones)
{
	struct io_bus bus;
	struct post_port p;
	uint8_t code = 0x42, v = 0;
	uint16_t w = 0;

	io_bus_init(&bus, "pio");
	cr_assert_eq(post_port_attach(&p, &bus), 0);
	cr_assert_eq(io_bus_write(&bus, PORT_POST, &code, 1), 1);
	cr_assert_eq(p.last, 0x42);
	cr_assert_eq(io_bus_read(&bus, PORT_POST, &v, 1), 1);
	cr_assert_eq(v, 0xff);
	cr_assert_eq(io_bus_read(&bus, PORT_POST, &w, 2), 0, "a 2-byte read runs past the port");
	cr_assert_eq(post_port_attach(&p, &bus), -EEXIST);
	post_port_detach(&p, &bus);
	io_bus_destroy(&bus);
}
