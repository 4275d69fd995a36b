# System, users, services, DNS, logging, scheduler and scripts.
/system identity
set name="office gw"
/system clock
set time-zone-name=Europe/Berlin
/ip dns
set servers=1.1.1.1,9.9.9.9 allow-remote-requests=yes
/ip service
set telnet disabled=yes
set ssh port=2222 address=192.168.88.0/24
/user group
add name=monitor policy=read,api,!write,!policy
/user
add name=ops group=monitor password="s3cret" address=192.168.88.0/24 comment="NOC"
/system logging action
add name=remote1 target=remote remote=192.168.88.2
/system logging
add topics=firewall action=remote1
/system script
add name=hello source=":put \"hello \$[/system identity get name]\""
add name=backup owner=admin source={
:local d [/system clock get date]
/export file=("backup-" . [:pick $d 7 11])
}
/system scheduler
add name=nightly interval=1d on-event=backup start-date=jan/01/2026 start-time=03:00:00
