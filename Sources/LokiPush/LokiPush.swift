public enum LokiPushPlaceholder {}
