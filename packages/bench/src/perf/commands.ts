import type { Command } from 'commander';
export function perfCommands(): Command[] {
  return [];
}
