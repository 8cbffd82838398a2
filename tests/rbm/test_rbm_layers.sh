# test_rbm_layers.sh LIB -- the graph of calls that rbm.h draws, checked on
# the library's objects: rbm_model.c calls no other file of the library,
# rbm_eval.c calls rbm_model.c only, rbm_train.c calls rbm_model.c and
# rbm_eval.c; so nothing calls in a circle.  nm lists each object's global
# definitions (T) and undefined references (U): every rbm_ symbol an object
# refers to must be defined by an object below it.
source "$SRC/tests/lib.sh"
LIB=${1:?usage: test_rbm_layers.sh liblzrbm.a}
nm -A "$LIB" >nm.txt || fail "nm $LIB failed"
# "LIB:OBJECT.c.o:[ADDRESS] TYPE NAME" -> "OBJECT TYPE NAME"
awk 'NF >= 3 { n = split($1, p, ":"); o = p[n - 1]; sub(/\.c\.o$/, "", o); print o, $(NF - 1), $NF }' nm.txt >syms.txt
objs=$(awk '{ print $1 }' syms.txt | sort -u | tr '\n' ' ')
[ "$objs" = "rbm_eval rbm_model rbm_train " ] || fail "the library's objects: $objs"
ok
below() {
  case $1 in
    rbm_model) echo "" ;;
    rbm_eval) echo "rbm_model" ;;
    rbm_train) echo "rbm_model rbm_eval" ;;
  esac
}
arrows=""
for o in rbm_model rbm_eval rbm_train; do
  for s in $(awk -v o="$o" '$1 == o && $2 == "U" && $3 ~ /^rbm_/ { print $3 }' syms.txt); do
    def=$(awk -v s="$s" '$2 == "T" && $3 == s { print $1 }' syms.txt)
    [ -n "$def" ] || fail "$o.c calls $s, which no file of the library defines"
    [[ " $(below "$o") " == *" $def "* ]] || fail "$o.c calls $s of $def.c: an arrow rbm.h does not draw"
    arrows="$arrows $o>$def"
  done
done
ok
# every arrow of the graph is there (so the check above saw the calls)
for a in "rbm_eval>rbm_model" "rbm_train>rbm_model" "rbm_train>rbm_eval"; do
  [[ "$arrows " == *" $a "* ]] || fail "no call along $a: nm's output not understood?"
done
ok
done_ok
