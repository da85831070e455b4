"""What operators and their machines ask of a running instance: /healthz and /readyz for a load balancer
(views.py), Prometheus metrics (metrics.py), backups and the restore drill (backup.py)."""
