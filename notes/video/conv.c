#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
static inline uint8_t clamp(int v){return v<0?0:v>255?255:v;}
void i420_to_rgba(const uint8_t*y,int ys,const uint8_t*u,int us,const uint8_t*v,int vs,int w,int h,uint8_t*out){
 for(int j=0;j<h;j++){const uint8_t*yr=y+j*ys,*ur=u+(j/2)*us,*vr=v+(j/2)*vs; uint8_t*o=out+j*w*4;
  for(int i=0;i<w;i++){int c=(yr[i]-16)*298, d=ur[i/2]-128, e=vr[i/2]-128;
   o[0]=clamp((c+409*e+128)>>8); o[1]=clamp((c-100*d-208*e+128)>>8); o[2]=clamp((c+516*d+128)>>8); o[3]=255; o+=4;}}}
int main(int argc,char**argv){int W=640,H=480; uint8_t*y=malloc(W*H),*u=malloc(W*H/4),*v=malloc(W*H/4),*o=malloc(W*H*4);
 for(int i=0;i<W*H;i++)y[i]=i; for(int i=0;i<W*H/4;i++){u[i]=i*3;v[i]=i*7;}
 struct timespec a,b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&a); for(int k=0;k<200;k++) i420_to_rgba(y,W,u,W/2,v,W/2,W,H,o); clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&b);
 printf("%.3f ms/frame (%d)\n",((b.tv_sec-a.tv_sec)*1e3+(b.tv_nsec-a.tv_nsec)/1e6)/200,o[12345]);}
