// Runs the trainer's CLI commands in this process (commander with exitOverride, output silenced):
// '' on success, else the error message a user would see.
import { Command } from 'commander';
import { trainerCommands } from '../src/cli/index.js';

export async function runTrainerCli(args: string[]): Promise<string> {
  const program = new Command('tunebench').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  // Nested subcommands (vocab stats | extend) do not inherit exitOverride: set it on each.
  const quiet = (c: Command): Command => {
    for (const sub of c.commands) quiet(sub);
    return c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  };
  for (const c of trainerCommands()) program.addCommand(quiet(c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}
