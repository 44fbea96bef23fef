"""Resources: the monitoring host (node-exporter) and each of its containers (cAdvisor)."""
from panels import (dashboard, prom, query_variable, row, stat, table, thresholds, timeseries,
                    transformation, value_mapping)

# The monitoring host's own disks, filtered like LookoutHostDiskFilling: no pseudo or
# in-memory filesystems, container layers or network mounts (the NFS log mounts are the
# application host's disks).
FS = ('{fstype!~"tmpfs|devtmpfs|ramfs|overlay|squashfs|nsfs|autofs|fuse.*|nfs.*|cifs|smb3'
      '|iso9660"}')
NIC = '{device!~"lo|veth.*|docker.*|br-.*"}'
# name="" series are cgroup aggregates (the whole host, system slices), not containers.
CONTAINER = '{name!="", name=~"$container"}'
USAGE_COLOURS = thresholds(("green", None), ("orange", 0.75), ("red", 0.9))


def build():
    panels = [
        row("Monitoring host (node-exporter)"),
        stat("CPU busy", "Share of CPU time not idle, all cores.",
             [prom('1 - avg(rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',
                   instant=True)], unit="percentunit", colours=USAGE_COLOURS),
        stat("Memory used", "1 - MemAvailable / MemTotal.",
             [prom("max(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
                   instant=True)], unit="percentunit", colours=USAGE_COLOURS),
        stat("Fullest filesystem", "LookoutHostDiskFilling warns before this reaches 100 %.",
             [prom(f"max(1 - node_filesystem_avail_bytes{FS} / node_filesystem_size_bytes{FS})",
                   instant=True)], unit="percentunit", colours=USAGE_COLOURS),
        stat("Load (1 min) per CPU", "Above 1 means work is queueing for the CPUs.",
             [prom('max(node_load1) / count(node_cpu_seconds_total{mode="idle"})',
                   instant=True)], decimals=2,
             colours=thresholds(("green", None), ("orange", 0.8), ("red", 1.5))),
        timeseries("CPU by mode", "Share of all cores per mode (idle left out).",
                   [prom('sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}'
                         '[$__rate_interval])) / scalar(count(node_cpu_seconds_total'
                         '{mode="idle"}))', "{{mode}}")],
                   unit="percentunit", stack=True, min=0),
        timeseries("Memory", "",
                   [prom("sum(node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes)",
                         "used"),
                    prom("sum(node_memory_MemAvailable_bytes)", "available"),
                    prom("sum(node_memory_SwapTotal_bytes - node_memory_SwapFree_bytes)",
                         "swap used")], unit="bytes", min=0),
        timeseries("Disk space used", "Per filesystem.",
                   [prom(f"1 - node_filesystem_avail_bytes{FS} / node_filesystem_size_bytes{FS}",
                         "{{mountpoint}}")], w=8, unit="percentunit", min=0, max=1),
        timeseries("Disk I/O", "Bytes read and written per device.",
                   [prom("sum by (device) (rate(node_disk_read_bytes_total[$__rate_interval]))",
                         "{{device}} read"),
                    prom("sum by (device) (rate(node_disk_written_bytes_total"
                         "[$__rate_interval]))", "{{device}} written")], w=8, unit="Bps"),
        timeseries("Network", "Bytes received and sent per physical interface.",
                   [prom(f"sum by (device) (rate(node_network_receive_bytes_total{NIC}"
                         "[$__rate_interval]))", "{{device}} in"),
                    prom(f"sum by (device) (rate(node_network_transmit_bytes_total{NIC}"
                         "[$__rate_interval]))", "{{device}} out")], w=8, unit="Bps"),
        row("Containers (cAdvisor)"),
        timeseries("CPU per container", "CPU cores used (1 = one full core).",
                   [prom(f"sum by (name) (rate(container_cpu_usage_seconds_total{CONTAINER}"
                         "[$__rate_interval]))", "{{name}}")], decimals=2, min=0),
        timeseries("Memory per container", "Working set: what the kernel cannot reclaim.",
                   [prom(f"sum by (name) (container_memory_working_set_bytes{CONTAINER})",
                         "{{name}}")], unit="bytes", min=0),
        timeseries("Network per container", "Received (in) and sent (out).",
                   [prom(f"sum by (name) (rate(container_network_receive_bytes_total{CONTAINER}"
                         "[$__rate_interval]))", "{{name}} in"),
                    prom(f"sum by (name) (rate(container_network_transmit_bytes_total"
                         f"{CONTAINER}[$__rate_interval]))", "{{name}} out")],
                   w=8, unit="Bps"),
        timeseries("Filesystem usage per container", "Bytes the container uses on disk.",
                   [prom(f"sum by (name) (container_fs_usage_bytes{CONTAINER})", "{{name}}")],
                   w=8, unit="bytes", min=0),
        timeseries("Filesystem I/O per container", "",
                   [prom(f"sum by (name) (rate(container_fs_reads_bytes_total{CONTAINER}"
                         "[$__rate_interval]))", "{{name}} read"),
                    prom(f"sum by (name) (rate(container_fs_writes_bytes_total{CONTAINER}"
                         "[$__rate_interval]))", "{{name}} written")], w=8, unit="Bps"),
        row("Scrape targets"),
        table("Targets", "Every target Prometheus scrapes; 0 means the last scrape failed "
              "(LookoutTargetDown).",
              [prom("up", instant=True, table=True)], h=8,
              mappings=value_mapping({"0": ("DOWN", "red"), "1": ("UP", "green")}),
              transformations=[transformation("organize", {
                  "excludeByName": {"Time": True, "__name__": True},
                  "renameByName": {"Value": "Up"}})]),
    ]
    variables = [
        query_variable("container", "Container",
                       'label_values(container_memory_working_set_bytes{name!=""}, name)'),
    ]
    return dashboard("lookout-resources", "Lookout / Resources",
                     "Monitoring host CPU, memory, disk and network (node-exporter) and the "
                     "same per container (cAdvisor).", panels, variables)
