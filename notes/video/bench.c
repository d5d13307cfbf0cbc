#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
typedef struct bvpx_enc bvpx_enc; typedef struct bvpx_dec bvpx_dec;
bvpx_enc *bvpx_enc_new(int,int,int,int,int,int); int bvpx_enc_encode(bvpx_enc*,const uint8_t*,int,const uint8_t*,int,const uint8_t*,int,int64_t,int,uint8_t*,int,int*);
bvpx_dec *bvpx_dec_new(int); int bvpx_dec_decode(bvpx_dec*,const uint8_t*,int,const uint8_t**,const uint8_t**,const uint8_t**,int*,int*,int*,int*,int*);
static double now(){struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t); return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
 int W=640,H=480,N=300; int cpu=argc>1?atoi(argv[1]):-6; int kbps=argc>2?atoi(argv[2]):800;
 uint8_t *y=malloc(W*H),*u=malloc(W*H/4),*v=malloc(W*H/4),*out=malloc(1<<20);
 bvpx_enc*e=bvpx_enc_new(W,H,30,kbps,1,cpu); bvpx_dec*d=bvpx_dec_new(1);
 double te=0,td=0; long bytes=0; int keys=0;
 for(int f=0;f<N;f++){
  for(int j=0;j<H;j++)for(int i=0;i<W;i++) y[j*W+i]=(uint8_t)((i+j+4*f)&255) ^ (((i/32+j/32+f/8)&1)?0:64);
  for(int j=0;j<H/2;j++)for(int i=0;i<W/2;i++){u[j*W/2+i]=(uint8_t)(128+((i+f)&63)); v[j*W/2+i]=(uint8_t)(128-((j+f)&63));}
  int key; double t0=now(); int n=bvpx_enc_encode(e,y,W,u,W/2,v,W/2,(int64_t)f*3000,f%100==50,out,1<<20,&key); double t1=now();
  const uint8_t*py,*pu,*pv; int a,b,c,w,h; int r=bvpx_dec_decode(d,out,n,&py,&pu,&pv,&a,&b,&c,&w,&h); double t2=now();
  te+=t1-t0; td+=t2-t1; bytes+=n; keys+=key; if(r!=1){printf("decode r=%d at %d\n",r,f);}
 }
 printf("cpu-used=%d target=%dkbps: encode %.2f ms/frame, decode %.2f ms/frame, %.0f kbit/s actual, %d keyframes\n",cpu,kbps,te*1000/N,td*1000/N,bytes*8.0/(N/30.0)/1000,keys);
}
