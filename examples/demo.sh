#!/usr/bin/env bash
# Runs the seed example: a join across two catalogs of the example namespaces shipped in
# examples/ (retail/wholesale in examples/lake, crm mounted from examples/crm at ["crm"]).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../$build/lancesql"
q="SELECT c.name, c.city, o.amount, d.segment
   FROM retail.sales.customers c
   JOIN retail.sales.orders o USING (customer_id)
   JOIN crm.dim.customers_dim d USING (customer_id)
   ORDER BY c.customer_id"
echo "lancesql --root examples/lake --catalog crm=dir:examples/crm#crm -c \"$q\""
"$bin" --root "$here/lake" --catalog "crm=dir:$here/crm#crm" -c "$q"
q2="SELECT city, SUM(amount) AS total FROM retail.sales.customers JOIN retail.sales.orders USING (customer_id) GROUP BY city ORDER BY city"
echo
echo "lancesql --root examples/lake -c \"$q2\""
"$bin" --root "$here/lake" -c "$q2"
