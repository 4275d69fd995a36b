/queue type print
/queue tree print
/queue tree print stats
/queue tree print where max-limit>5M
/queue simple print
/queue simple print detail
/queue export
/queue type print count-only
