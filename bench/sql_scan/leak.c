#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lancesql.h"
#include <malloc.h>
#include <stdatomic.h>
static _Atomic long live;
static void *cr(void*c,void*p,size_t n){size_t old=0; if(p){p=(char*)p-16; old=*(size_t*)p;} void*q=realloc(p,n+16); if(!q)return NULL; *(size_t*)q=n; atomic_fetch_add(&live,(long)n-(long)old); return (char*)q+16;}
static void cf(void*c,void*p){if(!p)return; p=(char*)p-16; atomic_fetch_sub(&live,(long)*(size_t*)p); free(p);}
static long rss_kb(void){FILE*f=fopen("/proc/self/status","r");char l[256];long v=0;while(fgets(l,sizeof l,f))if(!strncmp(l,"VmRSS:",6))v=atol(l+6);fclose(f);return v;}
int main(int argc,char**argv){
  const char*dir=argv[1]; int n=argc>2?atoi(argv[2]):2000; const char*q=argc>3?argv[3]:"SELECT c.name, d.segment FROM retail.sales.customers c JOIN crm.dim.customers_dim d ON c.customer_id = d.customer_id WHERE c.customer_id = 3";
  lsql_allocator al={cr,cf,NULL}; lsql_set_allocator(&al);
  char root[1024],crm[1024];snprintf(root,sizeof root,"%s/seed_root",dir);snprintf(crm,sizeof crm,"%s/seed_crm",dir);
  lsql_error e={0};lsql_namespace*a,*b2;lsql_session*s;lsql_session_builder*b=lsql_session_builder_new();
  lsql_connect("dir",(const char*[]){"root",root,NULL},&a,&e);lsql_connect("dir",(const char*[]){"root",crm,NULL},&b2,&e);
  lsql_session_builder_with_root(b,a,&e);lsql_session_builder_add_catalog(b,"crm",b2,(const char*[]){"crm"},1,&e);
  lsql_session_builder_set_option(b,"threads","2",&e);
  if(lsql_session_builder_build(b,&s,&e)){printf("build %s\n",e.message);return 1;}
  long r0=0; size_t h0=0;
  for(int i=0;i<n;i++){struct ArrowArrayStream st; if(lsql_session_sql(s,q,&st,&e)){printf("ERR %s\n",e.message);return 1;}
    struct ArrowArray x; while(st.get_next(&st,&x)==0&&x.release)x.release(&x); st.release(&st);
    if(i==100){r0=rss_kb();struct mallinfo2 m=mallinfo2();h0=m.uordblks+m.hblkhd;} if(i%500==0||i==n-1){struct mallinfo2 m=mallinfo2();fprintf(stderr,"%d rss=%ld KB heap_in_use=%zu KB arena=%zu KB lsql_live=%ld B\n",i,rss_kb(),(m.uordblks+m.hblkhd)/1024,m.arena/1024,(long)live);}}
  {struct mallinfo2 m=mallinfo2();fprintf(stderr,"growth after warmup: rss %.2f KB/query, heap %.1f B/query\n",(double)(rss_kb()-r0)/(n-101),((double)(m.uordblks+m.hblkhd)-(double)h0)/(n-101));}
  lsql_session_free(s);lsql_namespace_free(a);lsql_namespace_free(b2);lsql_session_builder_free(b);return 0;}
