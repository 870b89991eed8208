file(READ ${IN} content)
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = R\"__asgid_embed__(${content})__asgid_embed__\";\n")
