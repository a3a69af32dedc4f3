package dev.graft.cli;

import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * Parses a command line as {@code graft} would, in a JVM whose environment {@link RoleEnvDefaultsTest}
 * sets, and prints each option of the chosen subcommand as {@code --name=value} (or
 * {@code error=MESSAGE} when parsing fails). Nothing is run.
 */
final class RoleEnvProbe {

  private RoleEnvProbe() {}

  public static void main(String[] args) {
    try {
      CommandLine.ParseResult parsed = GraftCommand.commandLine().parseArgs(args);
      for (OptionSpec o : parsed.subcommand().commandSpec().options()) {
        if (!o.usageHelp() && !o.versionHelp()) {
          System.out.println(o.longestName() + "=" + o.getValue());
        }
      }
    } catch (CommandLine.ParameterException e) {
      System.out.println("error=" + e.getMessage());
    }
  }
}
