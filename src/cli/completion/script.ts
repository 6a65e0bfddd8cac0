/**
 * The bash completion function `xenemu completion bash` prints. It hands the words
 * of the line to `xenemu __complete` (run.ts, no oclif) and reads back a first line
 * saying what to do (files: let bash complete file names; words or nospace: the
 * candidates follow, one per line, nospace when the one candidate is a XenStore
 * directory to go on into).
 */
export function bashScript(bin = 'xenemu'): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  return `# bash completion for ${bin}: eval "$(${bin} completion bash)", e.g. in ~/.bashrc
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} reply directive
  reply=$("\${COMP_WORDS[0]}" __complete "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null) || return 0
  directive=\${reply%%$'\\n'*}
  COMPREPLY=()
  case $directive in
    files)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      ;;
    words|nospace)
      [[ $reply == *$'\\n'* ]] && mapfile -t COMPREPLY <<< "\${reply#*$'\\n'}"
      [[ $directive == nospace ]] && compopt -o nospace 2>/dev/null
      ;;
  esac
  return 0
}
complete -F ${fn} ${bin}
`;
}
