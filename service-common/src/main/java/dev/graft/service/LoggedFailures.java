package dev.graft.service;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects the records logged through java.util.logging (gRPC's and Netty's loggers) at WARNING
 * or above with a stack trace, while open.
 */
public final class LoggedFailures implements AutoCloseable {

  private final List<LogRecord> records = new CopyOnWriteArrayList<>();
  private final Logger root = Logger.getLogger("");
  private final Handler handler = new Handler() {
    @Override
    public void publish(LogRecord r) {
      if (r.getLevel().intValue() >= Level.WARNING.intValue() && r.getThrown() != null) {
        records.add(r);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };

  public LoggedFailures() {
    root.addHandler(handler);
  }

  /** Each record as {@code logger: message: exception}. */
  public List<String> withStackTraces() {
    return records.stream().map(r -> r.getLoggerName() + ": " + r.getMessage() + ": " + r.getThrown()).toList();
  }

  @Override
  public void close() {
    root.removeHandler(handler);
  }
}
