import Hummingbird
import AsyncHTTPClient
import Prometheus
import CompressNIO
import ServiceLifecycle
public enum CollectorPlaceholder {}
