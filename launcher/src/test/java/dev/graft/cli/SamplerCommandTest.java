package dev.graft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `graft sampler` follows a trainer or serves a checkpoint: exactly one, said clearly when not. */
class SamplerCommandTest {

  private static String refused(String... args) {
    StringWriter err = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute(args), err.toString());
    return err.toString();
  }

  @Test
  void neitherTrainerNorModel_isAUsageError() {
    String err = refused("sampler", "--plaintext", "--port", "0", "--metrics-port", "-1");
    assertTrue(err.contains("give --trainer HOST:PORT (follow a trainer's policy versions) or --model DIR"
        + " (serve the teacher)"), err);
  }

  @Test
  void bothTrainerAndModel_isAUsageError(@TempDir Path dir) {
    String err = refused("sampler", "--plaintext", "--trainer", "localhost:1", "--model", dir.toString());
    assertTrue(err.contains("give either --trainer (follow a trainer's policy versions) or --model (serve the"
        + " teacher), not both"), err);
  }

  @Test
  void aModelDirectoryWithoutAConfig_isAUsageError(@TempDir Path dir) {
    String err = refused("sampler", "--plaintext", "--model", dir.toString());
    assertTrue(err.contains("--model " + dir + " holds no config.json"), err);
  }

  @Test
  void help_describesBothRoles() {
    StringWriter out = new StringWriter();
    CommandLine cl = GraftCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    assertEquals(0, cl.execute("sampler", "--help"));
    assertTrue(out.toString().contains("--model=DIR"), out.toString());
    assertTrue(out.toString().replaceAll("\\s+", " ").contains("Exactly one of --trainer and --model."),
        out.toString());
  }
}
