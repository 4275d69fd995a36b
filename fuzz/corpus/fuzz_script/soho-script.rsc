/system script
add name=daily_config_backup owner=admin policy=read,write,policy,test,sensitive source={
:local date [/system clock get date]
:local name ("backup-" . [:pick $date 7 11] . "-" . [:pick $date 0 3] . "-" . [:pick $date 4 6])
/export file=$name
/log info ("configuration exported to " . $name . ".rsc")
}
/system scheduler
add name=daily_config_backup interval=1d on-event=daily_config_backup start-time=03:00:00
/system script run daily_config_backup
