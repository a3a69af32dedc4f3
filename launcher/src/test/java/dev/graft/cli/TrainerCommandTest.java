package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TrainerCommandTest {

  @Test
  void metricsPort_defaultsToTheEnvironment_else9466() {
    CommandLine cl = GraftCommand.commandLine();
    CommandLine trainer = cl.getSubcommands().get("trainer");
    cl.parseArgs("trainer");
    String expected = System.getenv("GRAFT_METRICS_PORT") != null ? System.getenv("GRAFT_METRICS_PORT") : "9466";
    assertEquals(expected, ((TrainerCommand) trainer.getCommand()).metricsPort);
  }

  @Test
  void metricsPort_flag_winsOverTheDefaultAndTheRunConfig() {
    CommandLine cl = GraftCommand.commandLine();
    cl.parseArgs("trainer", "--set", "server.metrics_port=9999", "--metrics-port", "0");
    TrainerCommand trainer = (TrainerCommand) cl.getSubcommands().get("trainer").getCommand();
    assertEquals("0", trainer.metricsPort);
    assertEquals(0, trainer.plan().metricsPort());
  }

  @Test
  void metricsPort_takesMinusOneZeroAndPorts() {
    assertEquals(-1, TrainerCommand.metricsPort("-1"));
    assertEquals(0, TrainerCommand.metricsPort("0"));
    assertEquals(9466, TrainerCommand.metricsPort(" 9466 "));
    assertEquals(65535, TrainerCommand.metricsPort("65535"));
  }

  @Test
  void metricsPort_outOfRangeOrNotANumber_namesTheFlagAndTheVariable() {
    for (String bad : new String[] {"65536", "-2", "abc", ""}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainerCommand.metricsPort(bad));
      assertEquals("--metrics-port (or GRAFT_METRICS_PORT) '" + bad
          + "' must be -1 (off), 0 (any free port) or a port in [1, 65535]", e.getMessage());
    }
  }

  @Test
  void trainer_withABadMetricsPort_failsBeforeAnyWork() {
    StringWriter err = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute("trainer", "--metrics-port", "70000", "--set", "teacher.endpoints=localhost:1"));
    assertTrue(err.toString().contains("--metrics-port (or GRAFT_METRICS_PORT) '70000' must be"), err.toString());
  }
}
