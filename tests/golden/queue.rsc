# Queue types, a queue tree and simple queues.
/queue type
add name=pcq-up kind=pcq pcq-classifier=src-address pcq-rate=2M
add name=fq kind=fq-codel
add name=red-custom kind=red red-min-threshold=5 red-max-threshold=30
/queue tree
add name=up parent=ether1 max-limit=10000000
add name=voip parent=up packet-mark=voip priority=1 limit-at=1M max-limit=10M queue=fq bucket-size=0
add name=bulk parent=up packet-marks=bulk,other priority=8 max-limit=1.5M burst-limit=3M burst-threshold=1M burst-time=16s
add name=global-in parent=global max-limit=100M bucket-size=0.5
/queue simple
add name=office target=192.168.88.0/24 max-limit=10M/20M priority=2/2 queue=pcq-up/pcq-download-default
add target=192.168.88.10,ether2 max-limit=5M limit-at=512k/1M comment="auto-named"
add name=first target=192.168.88.20/32 max-limit=1M/1M place-before=0
