#!/bin/sh
# Network checks, on the address /init configured (DHCP):
#   vmmguest.net.url=URL    guest -> host: fetch URL with wget, print the body's MD5
#   vmmguest.net.md5=HEX    ... and compare it with HEX (prints "match" or "MISMATCH")
#   vmmguest.net.echo=PORT  host -> guest: accept one TCP connection on PORT and answer with the
#                           MD5 of everything that arrived (the host compares it with what it sent)
. /usr/share/vmmguest/lib.sh

rc=0
# one program after the other, no pipeline (lib.sh, md5_of)
ip -4 -o addr show dev eth0 >/tmp/.net-addr 2>/dev/null
ip -4 route show default >/tmp/.net-route 2>/dev/null
echo "VMM-GUEST-NET: $(awk '{print $4}' /tmp/.net-addr)" \
	"via $(awk '{print $3}' /tmp/.net-route)"

url=$(cmdline_value vmmguest.net.url)
if [ -n "$url" ]; then
	if wget -q -O /tmp/net-body "$url"; then
		got=$(md5_of /tmp/net-body)
		want=$(cmdline_value vmmguest.net.md5)
		verdict=unchecked
		[ -z "$want" ] || { [ "$got" = "$want" ] && verdict=match || verdict=MISMATCH; }
		echo "VMM-GUEST-NET-GET: $(wc -c </tmp/net-body) bytes md5 $got $verdict"
		[ "$verdict" != MISMATCH ] || rc=1
	else
		echo "VMM-GUEST-NET-GET: wget $url failed"
		rc=1
	fi
fi

port=$(cmdline_value vmmguest.net.echo)
if [ -n "$port" ]; then
	echo "VMM-GUEST-NET-ECHO: listening on $port"
	# -e runs md5sum with the connection as its stdin and stdout.
	timeout 900 nc -l -p "$port" -e md5sum || rc=1
	echo "VMM-GUEST-NET-ECHO: served"
fi
exit $rc
