#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lancesql.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  const char *root=argc>1?argv[1]:"/tmp/sqlbench/ns"; const char *threads=argc>2?argv[2]:"2"; int reps=argc>3?atoi(argv[3]):3;
  lsql_error e={0}; lsql_namespace*ns; lsql_session*s; lsql_session_builder*b=lsql_session_builder_new();
  if(lsql_connect("dir",(const char*[]){"root",root,NULL},&ns,&e)){printf("%s\n",e.message);return 1;}
  lsql_session_builder_with_root(b,ns,&e); lsql_session_builder_default(b,"bench","s",&e);
  lsql_session_builder_set_option(b,"threads",threads,&e);
  if(lsql_session_builder_build(b,&s,&e)){printf("%s\n",e.message);return 1;}
  const char*q[]={"SELECT sum(i), sum(d) FROM big","SELECT count(DISTINCT s) FROM big","SELECT max(len(long_s)) FROM big",
    "SELECT cat, count(*) FROM big GROUP BY cat ORDER BY cat","SELECT dcat, count(*) FROM big GROUP BY dcat ORDER BY dcat", "SELECT count(*) FROM big", NULL};
  for(int k=0;q[k];k++){ if(argc>4 && !strstr(argv[4], (char[]){'0'+k,0})) continue; double best=1e9; char res[128]="";
    for(int r=0;r<reps;r++){ double t0=now(); struct ArrowArrayStream st;
      if(lsql_session_sql(s,q[k],&st,&e)){printf("ERR %s\n",e.message);return 1;}
      struct ArrowArray a; long rows=0; while(st.get_next(&st,&a)==0&&a.release){ if(rows==0&&a.n_children>0&&a.length>0&&a.children[0]->n_buffers>1&&a.children[0]->buffers[1]) snprintf(res,sizeof res,"%lld",(long long)((long long*)a.children[a.n_children-1]->buffers[1])[0]); rows+=a.length;a.release(&a);}
      if(st.get_last_error(&st))printf("ERR %s\n",st.get_last_error(&st)); st.release(&st); double dt=now()-t0; if(dt<best)best=dt;}
    printf("%-60s %.3f s\n",q[k],best); fflush(stdout);}
  lsql_session_free(s); lsql_namespace_free(ns); lsql_session_builder_free(b); return 0;}
